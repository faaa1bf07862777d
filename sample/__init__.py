"""The sample collectivité: a deterministic portfolio on copil's schema (the demo, the tests and
the benchmarks), seeded into the emulator. It uses copil's model and the emulator's models;
the emulator knows nothing of it."""
