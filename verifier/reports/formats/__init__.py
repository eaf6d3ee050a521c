"""Pure renderers, one module per output format; writing them anywhere is the caller's job."""
