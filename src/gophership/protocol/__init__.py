"""Sans-IO protocol layers: bytes in, values out; never imports asyncio, socket, os or time."""
