"""Validator for trainer/paraphrases.json, the hand-written paraphrase set (chat-style phrasings per label, style and CMU text, with a held-out slice).

Pure data checks, no torch: format and provenance, full coverage of every action label, motion-pack style
and CMU clip text in the three data packs, minimum counts, uniqueness, held-out phrasings disjoint from the
trained ones and from the packs' own texts, and left/right consistency.
"""
import json
import os
import re

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PATH = os.path.join(REPO, "trainer", "paraphrases.json")
DATA = os.path.join(REPO, "..", "shared", "data")
PACKS = ("motion", "cmu", "hdm05")

MIN = {"actions": (12, 3), "styles": (8, 3), "texts": (8, 2)}
MAX_CHARS = 100
SIDE = {"left": re.compile(r"\bleft\b", re.I), "right": re.compile(r"\bright\b", re.I)}
BOTH = re.compile(r"\b(both|two)\b|\btwo-handed\b", re.I)


def _sides(s):
    return {k for k, rx in SIDE.items() if rx.search(s)}


def _norm(s):
    return re.sub(r"\s+", " ", s.strip().lower()).rstrip(".!?").strip()


@pytest.fixture(scope="module")
def para():
    with open(PATH, encoding="utf-8") as f:
        return json.load(f)


@pytest.fixture(scope="module")
def packs():
    """Per pack: action label -> set of pack names, styles, CMU texts, and every text of every clip."""
    if not os.path.isdir(DATA):
        pytest.skip("shared data packs not present at %s" % DATA)
    labels, styles, cmu_texts, all_texts = {}, set(), set(), set()
    for p in PACKS:
        index = os.path.join(DATA, p, "index.jsonl")
        if not os.path.exists(index):
            pytest.skip("pack index missing: %s" % index)
        with open(index, encoding="utf-8") as f:
            for line in f:
                if not line.strip():
                    continue
                r = json.loads(line)
                labels.setdefault(r["action_labels"][0], set()).add(p)
                if p == "motion" and r.get("style"):
                    styles.add(r["style"])
                if p == "cmu":
                    cmu_texts.update(r["texts"])
                all_texts.update(_norm(t) for t in r["texts"])
    return {"labels": labels, "styles": styles, "cmu_texts": cmu_texts, "all_texts": all_texts}


def _entries(para):
    for section in ("actions", "styles", "texts"):
        for key, e in para[section].items():
            yield section, key, e


def test_format_and_provenance(para):
    assert para["format"] == "charades-paraphrases/1"
    prov = para["provenance"]
    for k in ("author", "written", "method", "license"):
        assert isinstance(prov.get(k), str) and prov[k].strip(), k
    assert prov["license"] == "CC0-1.0"
    assert set(para) >= {"actions", "styles", "texts"}


def test_file_is_pretty_utf8():
    with open(PATH, encoding="utf-8") as f:
        raw = f.read()
    assert raw.startswith('{\n  "format"'), "pretty-printed with 2-space indent"


def test_every_action_label_covered_with_its_packs(packs, para):
    acts = para["actions"]
    missing = sorted(set(packs["labels"]) - set(acts))
    assert not missing, "labels without paraphrases: %s" % missing
    extra = sorted(set(acts) - set(packs["labels"]))
    assert not extra, "paraphrases for labels no pack has: %s" % extra
    for label, ps in packs["labels"].items():
        assert sorted(acts[label]["packs"]) == sorted(ps), label


def test_every_motion_style_covered(packs, para):
    missing = sorted(packs["styles"] - set(para["styles"]))
    assert not missing, "styles without paraphrases: %s" % missing
    extra = sorted(set(para["styles"]) - packs["styles"])
    assert not extra, "paraphrases for unknown styles: %s" % extra


def test_every_cmu_text_covered(packs, para):
    missing = sorted(packs["cmu_texts"] - set(para["texts"]))
    assert not missing, "CMU texts without paraphrases: %s" % missing
    extra = sorted(set(para["texts"]) - packs["cmu_texts"])
    assert not extra, "paraphrases for unknown texts: %s" % extra


def test_minimum_counts(para):
    for section, key, e in _entries(para):
        n_ph, n_ho = MIN[section]
        assert len(e["phrases"]) >= n_ph, (section, key, len(e["phrases"]))
        assert len(e["heldout"]) >= n_ho, (section, key, len(e["heldout"]))


def test_strings_clean_and_short(para):
    for section, key, e in _entries(para):
        for s in e["phrases"] + e["heldout"]:
            assert isinstance(s, str), (section, key, s)
            assert s.strip(), (section, key, "empty string")
            assert s == s.strip() and "  " not in s, (section, key, s)
            assert len(s) <= MAX_CHARS, (section, key, s)


def test_unique_and_heldout_disjoint(para):
    for section, key, e in _entries(para):
        ph = [_norm(s) for s in e["phrases"]]
        ho = [_norm(s) for s in e["heldout"]]
        assert len(set(ph)) == len(ph), (section, key, "duplicate phrase")
        assert len(set(ho)) == len(ho), (section, key, "duplicate heldout")
        both = set(ph) & set(ho)
        assert not both, (section, key, sorted(both))


def test_heldout_never_a_pack_text(packs, para):
    for section, key, e in _entries(para):
        for s in e["heldout"]:
            assert _norm(s) not in packs["all_texts"], (section, key, s)


def test_heldout_never_trained_anywhere(para):
    """A held-out phrasing must not be a trained phrasing of any entry in any section (no leak into training)."""
    trained = {_norm(s) for _, _, e in _entries(para) for s in e["phrases"]}
    for section, key, e in _entries(para):
        for s in e["heldout"]:
            assert _norm(s) not in trained, (section, key, s)


def _label_side(label):
    return _sides(label.replace("-", " "))


def test_action_sides(para):
    for label, e in para["actions"].items():
        side = _label_side(label)
        for s in e["phrases"] + e["heldout"]:
            got = _sides(s)
            if side:
                assert got == side, (label, s)
            else:
                assert not got, (label, s)


def test_two_hand_labels_say_both(para):
    for label, e in para["actions"].items():
        if "both" in label:
            for s in e["phrases"] + e["heldout"]:
                assert BOTH.search(s) or re.search(r"\b(hands|arms)\b", s), (label, s)


def test_left_right_mirrors_symmetric(para):
    acts = para["actions"]
    swap = lambda s: re.sub(r"\b(left|right)\b", lambda m: "right" if m.group(1).lower() == "left" else "left", s)
    pairs = [(l, swap(l)) for l in acts if "left" in _label_side(l)]
    assert pairs, "expected left/right labels"
    for left, right in pairs:
        assert right in acts, right
        for part in ("phrases", "heldout"):
            a = [swap(s) for s in acts[left][part]]
            b = acts[right][part]
            assert len(b) == len(a), (left, right, part)
            same = len(set(a) & set(b))
            assert same >= 0.75 * len(a), (left, right, part, same)


def test_styles_side_less(para):
    for style, e in para["styles"].items():
        for s in e["phrases"] + e["heldout"]:
            assert not _sides(s), (style, s)


def test_cmu_text_sides(para):
    for text, e in para["texts"].items():
        allowed = _sides(text)
        for s in e["phrases"] + e["heldout"]:
            assert _sides(s) <= allowed, (text, s)
