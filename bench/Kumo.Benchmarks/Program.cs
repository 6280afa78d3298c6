using BenchmarkDotNet.Running;

// Pick benchmarks with BenchmarkDotNet's arguments, e.g. `--filter '*' --job short`; see docs/MICROBENCHMARKS.md.
BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
