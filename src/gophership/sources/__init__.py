"""Sources: thin asyncio shells that read bytes, frame them into chunks and route them.

Each source owns one receive buffer shared by all its connections: ``buffer_updated`` runs
synchronously right after the read, and the framer copies the incomplete tail it keeps, so a
connection holds at most ``max_frame_bytes`` of memory between reads.
"""
