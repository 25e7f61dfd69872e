"""Charades trainer: causal motion VQ-VAE + multi-task GPT (see trainer/ONNX.md and docs/data-contract.md)."""
