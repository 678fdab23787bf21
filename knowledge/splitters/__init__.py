"""Splitters turn a ``Document`` into ``Chunk``s."""
