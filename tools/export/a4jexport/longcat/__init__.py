"""LongCat-Video-Avatar 1.5 export parts (docs/BUNDLE-FORMAT.md, family ``longcat-avatar``)."""
