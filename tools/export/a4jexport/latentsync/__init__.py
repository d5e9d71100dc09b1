"""LatentSync 1.5 / 1.6 exporter parts (UNet, Whisper encoder, VAE) and its command."""
