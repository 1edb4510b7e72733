// Every target the harness runs, in the order it prints them. A new target is one file in this folder and
// its line here.
let fuzzTargets: [any FuzzTarget] = [
    SafetensorsTarget(),
    CheckpointTarget(),
    IDXTarget(gzipped: false),
    IDXTarget(gzipped: true),
    CIFARTarget(),
    PNMTarget(),
    SpecTarget(),
    CLINumberTarget(),
]
