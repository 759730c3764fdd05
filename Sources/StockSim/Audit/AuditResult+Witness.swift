extension AuditViolation.Kind {
    /// The audit kind of a break in the per-sale chain (a sale below zero is an oversell).
    init(_ kind: WitnessViolation.Kind) {
        switch kind {
        case .staleRead: self = .staleRead
        case .gap: self = .gap
        case .chainStart: self = .chainStart
        case .chainEnd: self = .chainEnd
        case .oversell: self = .oversell
        }
    }
}

extension AuditResult {
    /// Adds the per-sale witness's verdict: each break of a chain as a violation of its kind naming the two sales,
    /// or a note saying why the chains were not checked. Added after the audit's own checks: when they proved the
    /// stock changed from outside the run, the breaks are a note, not violations.
    ///
    /// - Parameter witness: the verdict, or why there is none.
    mutating func add(witness: Result<WitnessResult, WitnessNotChecked>) {
        switch witness {
        case .failure(let notChecked):
            notes.append("per-sale witness: not checked: \(notChecked.reason)")
        case .success(let result):
            let checked = result.keys.filter(\.checked)
            let sales = checked.reduce(0) { $0 + $1.sales }
            if let unchecked = result.keys.first(where: { !$0.checked }) {
                notes.append("per-sale witness: \(unchecked.key) not checked: \(unchecked.note ?? "no sales")")
            }
            notes.append(
                "per-sale witness: \(NumberText.count(sales, "sale")) on \(NumberText.count(checked.count, "key")) checked as one chain per key, from the initial stock to the final"
            )
            // Units another client added or took break the chain where they happened: the audit has named that change
            // (exit status 3), and the breaks are not claimed as the run's own violations.
            if !result.violations.isEmpty, violations.contains(where: { $0.kind == .stockChangedOutside }) {
                notes.append(
                    "per-sale witness: \(NumberText.count(result.violationCount, "chain break")) not counted: the stock was changed from outside the run (stock-changed-outside), which breaks the chain where it happened"
                )
                return
            }
            var found: [AuditViolation.Kind: [String]] = [:]
            for violation in result.violations {
                found[AuditViolation.Kind(violation.kind), default: []].append(violation.description)
            }
            for kind in AuditViolation.Kind.allCases {
                guard let details = found[kind] else { continue }
                let shown = details.prefix(5).joined(separator: "; ")
                violations.append(
                    AuditViolation(kind, details.count > 5 ? "\(shown); and \(details.count - 5) more" : shown))
            }
            if result.violationCount > result.violations.count {
                notes.append(
                    "per-sale witness: \(result.violationCount) chain breaks in all, the first \(result.violations.count) listed"
                )
            }
            passed = passed && result.passed
        }
    }

    /// Says why the per-sale witness does not check this strategy.
    mutating func addWitnessNotChecked(_ reason: String) {
        notes.append("per-sale witness: not checked: \(reason)")
    }
}
