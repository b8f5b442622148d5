"""Fusion on constructed ranked lists: the weights decide who leads, ties are deterministic."""
import pytest

from ragkit.retrieve import dense_weight_for, rrf_fuse


def ids(ranked):
    return [cid for cid, _ in ranked]


def test_zero_dense_weight_is_lexical_order():
    dense = [("d1", 0.9), ("d2", 0.8), ("x", 0.7)]
    lexical = [("x", 12.0), ("l2", 9.0), ("l3", 3.0)]
    assert ids(rrf_fuse(dense, lexical, dense_weight=0.0)) == ["x", "l2", "l3"]


def test_equal_weights_reward_agreement():
    dense = [("a", 0.9), ("b", 0.8), ("c", 0.7)]
    lexical = [("c", 5.0), ("d", 4.0), ("a", 3.0)]
    fused = ids(rrf_fuse(dense, lexical, dense_weight=1.0))
    assert fused[0] in {"a", "c"} and set(fused[:2]) == {"a", "c"}
    assert set(fused) == {"a", "b", "c", "d"}


def test_low_dense_weight_cannot_overturn_a_clear_lexical_winner():
    dense = [("noise1", 0.5), ("noise2", 0.49), ("gold", 0.1)]
    lexical = [("gold", 20.0), ("other", 4.0)]
    assert ids(rrf_fuse(dense, lexical, dense_weight=0.1))[0] == "gold"


@pytest.mark.parametrize("coverage, expected", [(0.0, 0.0), (0.3, 0.0), (0.5, 0.0), (0.75, 0.5), (1.0, 1.0),
                                                (1.7, 1.0), (-0.2, 0.0)])
def test_auto_dense_weight_follows_coverage(coverage, expected):
    assert dense_weight_for(coverage) == pytest.approx(expected)


def test_fixed_dense_weight_overrides_coverage():
    assert dense_weight_for(0.0, "0.7") == pytest.approx(0.7)


def test_half_covered_question_is_pure_lexical():
    """A Japanese question with a Latin word (coverage <= 0.5) must rank exactly like BM25."""
    dense = [("noise", 0.6), ("gold", 0.2)]
    lexical = [("gold", 8.0), ("noise", 7.9), ("l3", 1.0)]
    fused = rrf_fuse(dense, lexical, dense_weight=dense_weight_for(0.5))
    assert ids(fused) == ids(lexical)


def test_fully_covered_question_rewards_agreement_over_one_sided_lead():
    dense = [("both", 0.8), ("d_only", 0.79)]
    lexical = [("l_only", 9.0), ("both", 8.5)]
    assert ids(rrf_fuse(dense, lexical, dense_weight=dense_weight_for(1.0)))[0] == "both"
