"""Custom Vision Training API v3.3 emulator: `python -m emulator --port PORT` (see emulator/README.md)."""
