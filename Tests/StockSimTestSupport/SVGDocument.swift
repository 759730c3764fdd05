import Foundation

#if canImport(FoundationXML)
import FoundationXML
#endif

/// An SVG document parsed with Foundation's XMLParser: every element with its attributes, and every text.
public struct SVGDocument {
    public struct Element {
        public var name: String
        public var attributes: [String: String]
        /// The characters of a `text` element.
        public var text: String?
    }

    public var elements: [Element] = []
    public var texts: [String] = []
    public var root: String? { elements.first?.name }

    public struct ParseError: Error, CustomStringConvertible {
        public var description: String
    }

    public init(_ text: String) throws {
        let collector = Collector()
        let parser = XMLParser(data: Data(text.utf8))
        parser.delegate = collector
        guard parser.parse() else {
            throw ParseError(
                description: "not well-formed XML: \(parser.parserError.map { "\($0)" } ?? "unknown error")")
        }
        // libxml2 behind XMLParser on Linux lets a mismatched end tag pass: check the nesting here.
        if let mismatch = collector.mismatch { throw ParseError(description: "not well-formed XML: \(mismatch)") }
        guard collector.open.isEmpty else {
            let names = collector.open.map { collector.elements[$0].name }
            throw ParseError(description: "not well-formed XML: <\(names.joined(separator: "> <"))> never closed")
        }
        elements = collector.elements
        texts = collector.texts
    }

    private final class Collector: NSObject, XMLParserDelegate {
        var elements: [Element] = []
        var texts: [String] = []
        /// The elements not closed yet, as indices into `elements`, innermost last.
        private(set) var open: [Int] = []
        var mismatch: String?
        private var text = ""

        func parser(
            _ parser: XMLParser, didStartElement elementName: String, namespaceURI: String?, qualifiedName: String?,
            attributes: [String: String] = [:]
        ) {
            open.append(elements.count)
            elements.append(Element(name: elementName, attributes: attributes))
            text = ""
        }

        func parser(_ parser: XMLParser, foundCharacters string: String) {
            text += string
        }

        func parser(
            _ parser: XMLParser, didEndElement elementName: String, namespaceURI: String?, qualifiedName: String?
        ) {
            let innermost = open.last.map { elements[$0].name }
            if elementName == "text" {
                texts.append(text)
                if innermost == elementName, let index = open.last { elements[index].text = text }
            }
            if innermost == elementName {
                open.removeLast()
            } else if mismatch == nil {
                mismatch = "</\(elementName)> closes <\(innermost ?? "nothing")>"
            }
            text = ""
        }
    }
}
