import Foundation

#if canImport(FoundationXML)
import FoundationXML
#endif

/// An SVG document parsed with Foundation's XMLParser: every element with its attributes, and every text.
struct SVGDocument {
    struct Element {
        var name: String
        var attributes: [String: String]
    }

    var elements: [Element] = []
    var texts: [String] = []
    var root: String? { elements.first?.name }

    struct ParseError: Error, CustomStringConvertible {
        var description: String
    }

    init(_ text: String) throws {
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
            throw ParseError(
                description: "not well-formed XML: <\(collector.open.joined(separator: "> <"))> never closed")
        }
        elements = collector.elements
        texts = collector.texts
    }

    private final class Collector: NSObject, XMLParserDelegate {
        var elements: [Element] = []
        var texts: [String] = []
        var open: [String] = []
        var mismatch: String?
        private var text = ""

        func parser(
            _ parser: XMLParser, didStartElement elementName: String, namespaceURI: String?, qualifiedName: String?,
            attributes: [String: String] = [:]
        ) {
            elements.append(Element(name: elementName, attributes: attributes))
            open.append(elementName)
            text = ""
        }

        func parser(_ parser: XMLParser, foundCharacters string: String) {
            text += string
        }

        func parser(
            _ parser: XMLParser, didEndElement elementName: String, namespaceURI: String?, qualifiedName: String?
        ) {
            if elementName == "text" { texts.append(text) }
            if open.last == elementName {
                open.removeLast()
            } else if mismatch == nil {
                mismatch = "</\(elementName)> closes <\(open.last ?? "nothing")>"
            }
            text = ""
        }
    }
}
