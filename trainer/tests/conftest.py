import os
import sys

import pytest
import torch

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
if REPO not in sys.path:
    sys.path.insert(0, REPO)

torch.set_num_threads(1)  # 2 shared cores: a second OpenMP thread mostly waits


@pytest.fixture(scope="session")
def synthetic(tmp_path_factory):
    """A synthetic features cache + embedding table + zero-shot pairs in the exact on-disk format."""
    from trainer.synthetic import write_synthetic, write_synthetic_pairs
    root = tmp_path_factory.mktemp("synthetic")
    cache, emb, pairs = str(root / "cache"), str(root / "emb"), str(root / "pairs.json")
    write_synthetic(cache, emb)
    write_synthetic_pairs(pairs)
    return {"cache": cache, "embeddings": emb, "pairs": pairs, "root": str(root)}
