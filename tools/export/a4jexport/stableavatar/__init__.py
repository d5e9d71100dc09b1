"""StableAvatar (Wan2.1-Fun 1.3B + audio adapter) modules and their graph exports."""
