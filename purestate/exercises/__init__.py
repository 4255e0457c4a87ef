"""One module per chapter (``chNN``), each registering its exercises on import."""
