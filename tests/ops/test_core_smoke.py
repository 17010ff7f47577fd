import pytest

from helpers import check_gradcheck, check_op


@pytest.mark.parametrize("shapes", [[(3, 4), (3, 4)], [(3, 4), (4,)], [(2, 1, 4), (3, 1)], [(), (3,)], [(0, 3), (3,)]])
@pytest.mark.parametrize("fn", [lambda a, b: a + b, lambda a, b: a - b, lambda a, b: a * b,
                                lambda a, b: a / b])
def test_binary(shapes, fn):
    check_op(shapes, fn, low=0.5, high=2)


def test_matmul_shapes():
    for sa, sb in [((3, 4), (4, 5)), ((4,), (4, 5)), ((3, 4), (4,)), ((4,), (4,)), ((2, 3, 4), (4, 5)),
                   ((2, 1, 3, 4), (5, 4, 2))]:
        check_op([sa, sb], lambda a, b: a @ b)


def test_gradcheck_binary():
    check_gradcheck([(3, 4), (4,)], lambda a, b: (a * b + a / (b * b + 1)) @ b.exp())
