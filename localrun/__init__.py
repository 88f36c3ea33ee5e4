"""Start and stop the local stack (Azurite, emulator, devhost) as child processes, for the demo and tests."""
