"""python -m trainer <command> [options]

  vq         train the causal motion VQ-VAE
  tokenize   encode every clip (and its mirror) into codes with the trained VQ-VAE
  gpt        train the multi-task generator GPT (tokenizes first when needed)
  evaluator  train the contrastive evaluator encoders (trainer/train_evaluator.py)
  evaluate   evaluate the trained model (trainer/evaluate.py)
  export     write ONNX files + manifest.json to models/<version>/
  import     rebuild a published model's checkpoints (vq.pt, gpt.pt) in --out from its ONNX files (--model)
  all        vq → tokenize → gpt → evaluator → evaluate → export

Progress is printed as JSON lines on stdout; every stage checkpoints into --out and `--resume` continues it.
"""
from __future__ import annotations

import argparse
import os
import sys

from .data import DEFAULT_CACHE, DEFAULT_EMBEDDINGS, REPO_ROOT, ZEROSHOT_FILE, DataError

COMMANDS = ["vq", "tokenize", "gpt", "evaluator", "evaluate", "export", "import", "all"]


def parse_args(argv):
    p = argparse.ArgumentParser(prog="python -m trainer", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("command", choices=COMMANDS)
    p.add_argument("--config", default="full", help="tiny | small | full | FILE.json (default full)")
    p.add_argument("--cache", default=DEFAULT_CACHE, help="features cache folder (charades data features)")
    p.add_argument("--embeddings", default=DEFAULT_EMBEDDINGS, help="embedding table folder (charades embed)")
    p.add_argument("--zeroshot", default=ZEROSHOT_FILE, help="held-out (action, style) pairs JSON")
    p.add_argument("--out", default=None, help="run folder for checkpoints (default trainer/runs/<config>)")
    p.add_argument("--resume", action="store_true", help="continue from the checkpoints in --out")
    p.add_argument("--models", default=os.path.join(REPO_ROOT, "models"), help="model registry for export")
    p.add_argument("--model", default=None, help="import: a published model folder (models/<version>)")
    p.add_argument("--version", default=None, help="model version name for export (default charades-<config>-<date>)")
    p.add_argument("--threads", type=int, default=1, help="torch threads (default 1: with 2 cores shared, a second OpenMP thread mostly waits at barriers)")
    p.add_argument("--limit-clips", type=int, default=0, help="evaluate: at most N clips per set (0 = all)")
    return p.parse_args(argv)


def run(args) -> None:
    import torch

    from .config import load_config
    from .data import check_zeroshot_pairs, load_cache, load_embeddings, load_zeroshot_pairs

    torch.set_num_threads(args.threads)
    cfg = load_config(args.config)
    out = args.out or os.path.join(REPO_ROOT, "trainer", "runs", cfg.name)
    os.makedirs(out, exist_ok=True)
    torch.manual_seed(cfg.train.seed)
    if args.command == "evaluator":
        return run_evaluator(args, out)
    cache = load_cache(args.cache)
    if args.command == "import":
        if not args.model:
            raise DataError("import needs --model models/<version> (the published model to rebuild)")
        from .onnx_import import import_model
        import_model(args.model, cache, out)
        return
    pairs = load_zeroshot_pairs(args.zeroshot)
    check_zeroshot_pairs(cache, pairs)
    steps = ["vq", "tokenize", "gpt", "evaluator", "evaluate", "export"] if args.command == "all" else [args.command]
    table = load_embeddings(args.embeddings) if set(steps) & {"gpt", "evaluate", "export"} else None
    from . import train
    if table is not None:
        train.sync_dims(cfg, cache, table)
    else:
        cfg.vq.dim = cache.dim
    resume = args.resume
    vq = tokens = None
    for step in steps:
        if step == "vq":
            vq = train.train_vq(cfg, cache, pairs, out, resume)
        elif step == "tokenize":
            vq = vq or train.load_vq(out)[0]
            tokens = train.tokenize(vq, cache, out, False, train.clips_to_tokenize(cache, cfg, pairs))
        elif step == "gpt":
            vq = vq or train.load_vq(out)[0]
            tokens = tokens or train.tokenize(vq, cache, out, True, train.clips_to_tokenize(cache, cfg, pairs))
            train.train_gpt(cfg, cache, table, pairs, vq, tokens, out, resume)
        elif step == "evaluator":
            run_evaluator(args, out)
        elif step == "evaluate":
            from .evaluate import evaluate_run
            evaluate_run(out, cache, table, pairs, limit_clips=args.limit_clips)
        elif step == "export":
            from .export import export_run
            export_run(out, cache, table, pairs, args.models, args.version)


def run_evaluator(args, out: str) -> None:
    """The metrics engineer's evaluator trainer; skipped with a message when it is not in the checkout yet."""
    try:
        from . import train_evaluator
    except ImportError as e:
        raise DataError(f"trainer/train_evaluator.py cannot be imported ({e}); the evaluator stage needs it") from None
    preset = "tiny" if args.config == "tiny" else "full"
    rc = train_evaluator.main(["--config", preset, "--cache", args.cache, "--embeddings", args.embeddings,
                               "--zeroshot", args.zeroshot, "--out", out, "--threads", str(args.threads)]
                              + (["--resume"] if args.resume else []))
    if rc:
        raise DataError(f"the evaluator stage failed (exit {rc}); see its message above")


def main(argv=None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        run(args)
    except DataError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted; continue with --resume", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
