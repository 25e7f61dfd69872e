"""Training data: the features cache and the embedding table that the TypeScript side writes.

The feature layout lives only in `src/motion/features.ts` (docs/data-contract.md); this module reads what it wrote
and never recomputes features. Everything here returns plain numpy arrays so the evaluator can import it cheaply.
"""
from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
REPO_ROOT = os.path.dirname(HERE)
DEFAULT_CACHE = os.path.join(REPO_ROOT, ".cache", "features", "charades-ric71-1")
DEFAULT_EMBEDDINGS = os.path.join(REPO_ROOT, ".cache", "embeddings", "use-en-energetic-0.2.0")
ZEROSHOT_FILE = os.path.join(HERE, "zeroshot_pairs.json")


# A pelvis this low is at floor level (crouching, kneeling, crawling, lying); standing is about 0.9 m
# (src/motion/engine/fidelity.ts FLOOR_LEVEL_M).
FLOOR_LEVEL_M = 0.6


class DataError(Exception):
    """Bad or missing input data; the CLI prints the message without a stack trace."""


# ----------------------------------------------------------------------------- features cache

@dataclass
class Clip:
    id: str
    split: str
    dataset: str
    offset: int
    length: int
    action_labels: list
    style: str
    texts: list
    pack: str = ""
    license: str = ""
    limbs: dict = field(default_factory=dict)  # {"hand": "left"|"right"|None, "foot": …} (src/motion/limbs.ts)
    floor: bool = False  # the pelvis goes below FLOOR_LEVEL_M somewhere in the clip (crawl, crouch, lie down)

    @property
    def action(self) -> str:
        return self.action_labels[0] if self.action_labels else ""

    @property
    def pair(self) -> tuple:
        return (self.action, self.style)


@dataclass
class FeatureCache:
    dir: str
    layout: str
    dim: int
    fps: int
    features: np.ndarray  # [frames, dim] float32, NOT normalised
    mean: np.ndarray
    std: np.ndarray
    mirror_perm: np.ndarray
    mirror_sign: np.ndarray
    slices: dict
    clips: list
    index_sha256: str
    featurizer_sha256: str
    meta: dict = field(repr=False, default_factory=dict)

    def clip_features(self, clip: Clip, normalised: bool = True, mirrored: bool = False) -> np.ndarray:
        x = self.features[clip.offset:clip.offset + clip.length]
        if mirrored:
            x = mirror_features(x, self.mirror_perm, self.mirror_sign)
        return self.normalise(x) if normalised else x.copy()

    def normalise(self, x: np.ndarray) -> np.ndarray:
        return ((x - self.mean) / self.std).astype(np.float32)

    def denormalise(self, x: np.ndarray) -> np.ndarray:
        return (x * self.std + self.mean).astype(np.float32)

    def split(self, name: str) -> list:
        return [c for c in self.clips if c.split == name]

    @property
    def data_hash(self) -> str:
        return f"{self.index_sha256}+{self.featurizer_sha256}"


def mirror_features(x: np.ndarray, perm: np.ndarray, sign: np.ndarray) -> np.ndarray:
    """Left/right reflection in feature space: mirrored[:, i] = sign[i] * x[:, perm[i]] (data contract)."""
    return (x[..., perm] * sign).astype(np.float32)


def _read_json(path: str, what: str) -> dict:
    if not os.path.exists(path):
        raise DataError(f"{what} not found: {path}")
    try:
        with open(path, "r", encoding="utf-8") as f:
            return json.load(f)
    except json.JSONDecodeError as e:
        raise DataError(f"{path}: not valid JSON ({e.msg} at line {e.lineno})") from None


def _require(meta: dict, key: str, path: str):
    if key not in meta:
        raise DataError(f"{path}: field '{key}' is missing")
    return meta[key]


def _vector(meta: dict, key: str, dim: int, path: str) -> np.ndarray:
    v = np.asarray(_require(meta, key, path), dtype=np.float32)
    if v.shape != (dim,):
        raise DataError(f"{path}: '{key}' has {v.size} values, expected dim = {dim}")
    if not np.all(np.isfinite(v)):
        raise DataError(f"{path}: '{key}' contains non-finite values")
    return v


def _parse_clip(rec: dict, i: int, frames: int, path: str) -> Clip:
    where = f"{path}: clips[{i}]"
    try:
        clip = Clip(id=str(rec["id"]), split=str(rec["split"]), dataset=str(rec.get("dataset", "")),
                    offset=int(rec["offset"]), length=int(rec["length"]),
                    action_labels=list(rec.get("action_labels", [])), style=str(rec.get("style") or ""),
                    texts=list(rec.get("texts", [])), pack=str(rec.get("pack") or ""),
                    license=str(rec.get("license") or ""), limbs=dict(rec.get("limbs") or {}))
    except KeyError as e:
        raise DataError(f"{where}: field {e} is missing") from None
    if clip.length <= 0 or clip.offset < 0 or clip.offset + clip.length > frames:
        raise DataError(f"{where} ({clip.id}): frames {clip.offset}..{clip.offset + clip.length} outside 0..{frames}")
    return clip


def load_cache(dir: str = DEFAULT_CACHE) -> FeatureCache:
    """Reads features.json + features.f16 (float16 → float32), validating every field the trainer uses."""
    meta_path = os.path.join(dir, "features.json")
    if not os.path.exists(meta_path):
        raise DataError(f"features cache not found: {meta_path} is missing "
                        f"(write it with `node bin/charades.js data features`, or pass --cache DIR)")
    meta = _read_json(meta_path, "features cache")
    dim = int(_require(meta, "dim", meta_path))
    frames = int(_require(meta, "frames", meta_path))
    bin_path = os.path.join(dir, "features.f16")
    if not os.path.exists(bin_path):
        raise DataError(f"features cache incomplete: {bin_path} is missing")
    expected = frames * dim * 2
    actual = os.path.getsize(bin_path)
    if actual != expected:
        raise DataError(f"{bin_path}: {actual} bytes, expected frames × dim × 2 = {frames} × {dim} × 2 = {expected}")
    features = np.fromfile(bin_path, dtype="<f2").astype(np.float32).reshape(frames, dim)
    mirror = _require(meta, "mirror", meta_path)
    perm = np.asarray(_require(mirror, "perm", meta_path + " mirror"), dtype=np.int64)
    sign = np.asarray(_require(mirror, "sign", meta_path + " mirror"), dtype=np.float32)
    if perm.shape != (dim,) or sign.shape != (dim,) or sorted(perm.tolist()) != list(range(dim)):
        raise DataError(f"{meta_path}: 'mirror.perm' must be a permutation of 0..{dim - 1} and 'mirror.sign' have {dim} values")
    std = _vector(meta, "std", dim, meta_path)
    if np.any(std <= 0):
        raise DataError(f"{meta_path}: 'std' must be positive everywhere")
    clips = [_parse_clip(c, i, frames, meta_path) for i, c in enumerate(_require(meta, "clips", meta_path))]
    if not clips:
        raise DataError(f"{meta_path}: 'clips' is empty")
    slices = {k: tuple(v) for k, v in meta.get("slices", {}).items()}
    mark_floor_clips(clips, features, slices)
    source = meta.get("source", {})
    return FeatureCache(dir=dir, layout=str(_require(meta, "layout", meta_path)), dim=dim, fps=int(meta.get("fps", 20)),
                        features=features, mean=_vector(meta, "mean", dim, meta_path), std=std,
                        mirror_perm=perm, mirror_sign=sign, slices=slices,
                        clips=clips, index_sha256=str(source.get("indexSha256", "")),
                        featurizer_sha256=str(meta.get("featurizerSha256", "")), meta=meta)


def mark_floor_clips(clips: list, features: np.ndarray, slices: dict) -> None:
    """Flags the clips whose pelvis reaches floor level, from the root height column the featurizer wrote."""
    if "root_y" not in slices:
        return
    col = slices["root_y"][0]
    for c in clips:
        c.floor = bool(features[c.offset:c.offset + c.length, col].min() < FLOOR_LEVEL_M)


# ----------------------------------------------------------------------------- embedding table

@dataclass
class EmbeddingTable:
    dir: str
    encoder_id: str
    dim: int
    vectors: np.ndarray  # [rows, dim] float32
    texts: list
    kinds: list
    phrases: list
    row_of: dict  # text -> row
    descriptions_of_text: dict  # dataset text -> [description rows]
    sides: np.ndarray = None  # [rows] int64: the side each row's words ask for (src/motion/text/side.ts SIDES)
    paraphrase_sets: dict = field(default_factory=dict)  # set key -> (trained rows, held-out rows)

    def row(self, text: str) -> int:
        if text not in self.row_of:
            raise DataError(f"{self.dir}: no embedding for text {text!r}; re-run `node bin/charades.js embed`")
        return self.row_of[text]

    def has(self, text: str) -> bool:
        return text in self.row_of

    def mean(self, rows) -> np.ndarray:
        return self.vectors[list(rows)].mean(axis=0)

    def side(self, row: int) -> int:
        return int(self.sides[row]) if self.sides is not None else SIDE_NONE

    def sets_for(self, clip: "Clip", mirrored: bool = False) -> list:
        """The paraphrase sets naming a clip (src/motion/text/paraphrases.ts clipSetKeys): its own text's set when it
        has one, else its action × style set; a mirrored clip takes the mirrored label's set."""
        # A clip's own text's set is the specific one (CMU's labels are per subject: "climb" covers its jumps too).
        own = [] if mirrored else [self.paraphrase_sets[k] for k in (f"text:{t}" for t in clip.texts)
                                   if k in self.paraphrase_sets]
        if own:
            return own
        action = mirror_label(clip.action) if mirrored else clip.action
        key = f"{action}|{clip.style}"
        sets = [self.paraphrase_sets[key]] if action and key in self.paraphrase_sets else []
        # One-sided actions whose label names no side ("kick") are also called by the side their motion shows.
        for limb, side in clip.limbs.items():
            if side in ("left", "right"):
                side = {"left": "right", "right": "left"}[side] if mirrored else side
                sided = f"{action}|{limb}:{side}"
                if sided in self.paraphrase_sets:
                    sets.append(self.paraphrase_sets[sided])
        return sets


def load_embeddings(dir: str = DEFAULT_EMBEDDINGS) -> EmbeddingTable:
    meta_path = os.path.join(dir, "embeddings.json")
    if not os.path.exists(meta_path):
        raise DataError(f"embedding table not found: {meta_path} is missing "
                        f"(write it with `node bin/charades.js embed`, or pass --embeddings DIR)")
    meta = _read_json(meta_path, "embedding table")
    enc = _require(meta, "encoder", meta_path)
    dim = int(_require(enc, "dim", meta_path + " encoder"))
    texts = list(_require(meta, "texts", meta_path))
    kinds = list(meta.get("kinds", ["text"] * len(texts)))
    if len(kinds) != len(texts):
        raise DataError(f"{meta_path}: 'kinds' has {len(kinds)} entries but 'texts' has {len(texts)}")
    bin_path = os.path.join(dir, "embeddings.f32")
    if not os.path.exists(bin_path):
        raise DataError(f"embedding table incomplete: {bin_path} is missing")
    expected = len(texts) * dim * 4
    if os.path.getsize(bin_path) != expected:
        raise DataError(f"{bin_path}: {os.path.getsize(bin_path)} bytes, expected rows × dim × 4 = "
                        f"{len(texts)} × {dim} × 4 = {expected}")
    vectors = np.fromfile(bin_path, dtype="<f4").reshape(len(texts), dim)
    row_of = {}
    for i, t in enumerate(texts):
        row_of.setdefault(t, i)
    descriptions_of_text = {}
    for p in meta.get("phrases", []):
        drows = [row_of[d] for d in p.get("descriptions", []) if d in row_of]
        for t in p.get("texts", []):
            descriptions_of_text[t] = drows
    sides = np.asarray(meta["sides"], dtype=np.int64) if "sides" in meta else None
    if sides is not None and sides.shape != (len(texts),):
        raise DataError(f"{meta_path}: 'sides' has {sides.size} entries but 'texts' has {len(texts)}")
    sets = {}
    for st in meta.get("paraphraseSets", []):
        trained = [row_of[t] for t in st.get("texts", []) if t in row_of]
        heldout = [row_of[t] for t in st.get("heldout", []) if t in row_of]
        if trained:
            sets[str(st["key"])] = (trained, heldout)
    return EmbeddingTable(dir=dir, encoder_id=str(enc.get("id", "")), dim=dim, vectors=vectors, texts=texts,
                          kinds=kinds, phrases=list(meta.get("phrases", [])), row_of=row_of,
                          descriptions_of_text=descriptions_of_text, sides=sides, paraphrase_sets=sets)


# ----------------------------------------------------------------------------- text conditioning

def conditioning_pool(clip_text: str, table: EmbeddingTable) -> list:
    """Rows that may describe a clip: its dataset text first, then its Action-GPT descriptions."""
    return [table.row(clip_text)] + list(table.descriptions_of_text.get(clip_text, []))


SIDE_NONE = 0
# Share of training examples conditioned on a paraphrase instead of the clip's own text. At 0.5 a full run lost the
# Action-GPT-description conditioning (aggregate R-precision with k = 4: 0.68 against 0.85); 0.3 keeps most of it.
PARAPHRASE_PROB = 0.3  # the default of train.paraphrase_prob


def sample_text_embedding(clip: Clip, table: EmbeddingTable, rng: np.random.Generator, texts=None) -> np.ndarray:
    """The mean embedding of a random non-empty subset of {one clip text} ∪ its k Action-GPT descriptions, so the
    model works both with raw text (k = 0) and with the aggregated descriptions."""
    return sample_text_condition(clip, table, rng, texts)[0]


def sample_text_condition(clip: Clip, table: EmbeddingTable, rng: np.random.Generator, texts=None,
                          paraphrases: bool = False, mirrored: bool = False, prob: float = PARAPHRASE_PROB) -> tuple:
    """(embedding, side) for one training example. With `paraphrases`, half the time the clip is called by one of
    its paraphrase set's phrasings ("put your hands up" for a raise-both-hands clip) instead of its own sentence;
    the side comes from the words actually used, as the engine parses it from the user's phrase."""
    texts = texts if texts is not None else clip.texts
    sets = table.sets_for(clip, mirrored) if paraphrases else []
    if sets and rng.random() < prob:
        trained = sets[rng.integers(len(sets))][0]
        row = trained[rng.integers(len(trained))]
        return table.vectors[row], table.side(row)
    text = texts[rng.integers(len(texts))]
    pool = conditioning_pool(text, table)
    keep = rng.random(len(pool)) < 0.5
    if not keep.any():
        keep[rng.integers(len(pool))] = True
    return table.mean(np.asarray(pool)[keep]), table.side(table.row(text))


def text_embedding(text: str, table: EmbeddingTable, use_descriptions: bool = True) -> np.ndarray:
    """Deterministic conditioning for evaluation: k = 4 (mean of the descriptions) or k = 0 (the text alone),
    as the engine does at inference."""
    drows = table.descriptions_of_text.get(text, [])
    if use_descriptions and drows:
        return table.mean(drows)
    return table.vectors[table.row(text)]


def text_side(text: str, table: EmbeddingTable) -> int:
    """The side the words of a text in the table ask for (none when the table predates sides)."""
    return table.side(table.row(text)) if table.has(text) else SIDE_NONE


_SIDE = re.compile(r"\b(left|right)\b")


def mirror_text(text: str) -> str:
    """The sentence that describes a left/right-mirrored clip ("waves the left hand" → "waves the right hand")."""
    return _SIDE.sub(lambda m: "right" if m.group(1) == "left" else "left", text)


def mirror_label(label: str) -> str:
    return re.sub(r"(?<![a-z])(left|right)(?![a-z])", lambda m: "right" if m.group(1) == "left" else "left", label)


# ----------------------------------------------------------------------------- compositional zero-shot split

def load_zeroshot_pairs(path: str = ZEROSHOT_FILE) -> list:
    meta = _read_json(path, "zero-shot pair list")
    pairs = _require(meta, "pairs", path)
    out = []
    for i, p in enumerate(pairs):
        if not isinstance(p, dict) or "action" not in p or "style" not in p:
            raise DataError(f"{path}: pairs[{i}] must be an object with 'action' and 'style'")
        out.append((str(p["action"]), str(p["style"])))
    return out


def check_zeroshot_pairs(cache: FeatureCache, pairs: list) -> None:
    """A pair is compositional only if its action and its style both still appear in training."""
    train_pairs = {c.pair for c in cache.clips if c.pair not in set(pairs)}
    actions = {a for a, _ in train_pairs}
    styles = {s for _, s in train_pairs}
    for a, s in pairs:
        if a not in actions or s not in styles:
            raise DataError(f"zero-shot pair ({a}, {s}) leaves {'action ' + a if a not in actions else 'style ' + s} "
                            f"unseen in training; pick a pair whose action and style appear elsewhere")


@dataclass
class Splits:
    train: list
    val: list
    test: list
    zeroshot: list  # every clip (any split) of a held-out pair


def make_splits(cache: FeatureCache, pairs: list) -> Splits:
    held = set(pairs)
    keep = [c for c in cache.clips if c.pair not in held]
    return Splits(train=[c for c in keep if c.split == "train"], val=[c for c in keep if c.split == "val"],
                  test=[c for c in keep if c.split == "test"], zeroshot=[c for c in cache.clips if c.pair in held])


def mirror_allowed(clip: Clip, pairs: list) -> bool:
    """Mirroring turns wave-right-hand×elderly into wave-left-hand×elderly: forbid it when that makes a held-out pair."""
    return (mirror_label(clip.action), clip.style) not in set(pairs)


# ----------------------------------------------------------------------------- windows for the VQ-VAE

def filter_packs(clips: list, packs: str) -> list:
    """The clips of the packs a run may see ("motion,cmu"; empty = every pack in the cache). A published model
    inherits the licence of every pack it saw, so this is where ShareAlike data is kept out of a NonCommercial model."""
    wanted = {p.strip() for p in packs.split(",") if p.strip()}
    if not wanted:
        return list(clips)
    known = {c.pack for c in clips}
    unknown = wanted - known
    if unknown:
        raise DataError(f"train.packs names {sorted(unknown)}, but the cache's clips come from {sorted(known)}")
    return [c for c in clips if c.pack in wanted]


def balance_key(clip: Clip) -> tuple:
    """What a balanced batch is balanced over: the action label within its pack (left and right count apart), with
    the clips of a label that reach the floor as a group of their own ("walks and then crouches down" is one of 173
    walks; as its own group it is drawn as often as a whole common action)."""
    return (clip.pack, clip.action, clip.floor)


def balanced_weights(clips: list, natural: np.ndarray, balance: float, floor_weight: float = 1.0) -> np.ndarray:
    """Sampling probabilities: (1 − balance) × the natural weights + balance × equal mass per (pack, action), split
    evenly among that group's clips. With balance 0.5 the one lie-down clip is drawn about as often as all 444
    raise-left-hand clips together are drawn by the balanced half, so rare actions are learned, not just seen.
    `floor_weight` multiplies the natural weight of the clips that reach floor level only: balancing every label also
    thins the waves and walks the model acts best (trainer/README.md), upweighting the floor clips does not."""
    natural = np.asarray(natural, dtype=np.float64)
    if floor_weight != 1.0:
        natural = natural * np.array([floor_weight if c.floor else 1.0 for c in clips])
    natural = natural / natural.sum()
    if balance <= 0:
        return natural
    keys = [balance_key(c) for c in clips]
    counts = {}
    for k in keys:
        counts[k] = counts.get(k, 0) + 1
    even = np.array([1.0 / (len(counts) * counts[k]) for k in keys])
    p = (1.0 - balance) * natural + balance * even
    return p / p.sum()


class WindowSampler:
    """Random fixed-length windows of normalised features from a list of clips, clips weighted by length mixed with
    equal mass per (pack, action) (`balance`), mirrored with probability `mirror_prob` (only where that does not
    recreate a held-out pair)."""

    def __init__(self, cache: FeatureCache, clips: list, window: int, mirror_prob: float = 0.5, pairs=(),
                 balance: float = 0.0, floor_weight: float = 1.0):
        self.cache, self.window, self.mirror_prob = cache, window, mirror_prob
        self.clips = [c for c in clips if c.length >= window]
        if not self.clips:
            raise DataError(f"no clip is at least {window} feature frames long; lower the window")
        self.can_mirror = np.array([mirror_allowed(c, list(pairs)) for c in self.clips])
        lengths = np.array([c.length - window + 1 for c in self.clips], dtype=np.float64)
        self.p = balanced_weights(self.clips, lengths, balance, floor_weight)
        self.norm_features = cache.normalise(cache.features)
        # Mirror the raw features before normalising: the train-split mean is not left/right symmetric.
        self.norm_mirrored = cache.normalise(mirror_features(cache.features, cache.mirror_perm, cache.mirror_sign)) \
            if mirror_prob > 0 else None

    def sample(self, batch: int, rng: np.random.Generator) -> np.ndarray:
        idx = rng.choice(len(self.clips), size=batch, p=self.p)
        out = np.empty((batch, self.window, self.cache.dim), dtype=np.float32)
        for b, i in enumerate(idx):
            c = self.clips[i]
            start = c.offset + rng.integers(c.length - self.window + 1)
            mirrored = self.norm_mirrored is not None and self.can_mirror[i] and rng.random() < self.mirror_prob
            src = self.norm_mirrored if mirrored else self.norm_features
            out[b] = src[start:start + self.window]
        return out
