"""The demo tenant and the end-to-end story of the seed document."""
