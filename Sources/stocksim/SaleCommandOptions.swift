import ArgumentParser

/// What every command that runs sales (`run`, `sweep`) takes, each group under its own title in the help: where
/// Redis is and what the driver shows, and what shapes every sale. Each command adds its own `--stock`, whose default
/// differs.
struct SaleCommandOptions: ParsableArguments {
    @OptionGroup(title: "Driver")
    var driver: DriverOptions

    @OptionGroup(title: "Sale")
    var sale: SaleOptions
}
