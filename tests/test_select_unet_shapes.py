"""scripts/select_unet_shapes.py: the rule that chooses a candidate U-Net over the shipped one."""
import importlib.util
from pathlib import Path

import pytest

PATH = Path(__file__).resolve().parents[1] / "scripts" / "select_unet_shapes.py"


@pytest.fixture(scope="module")
def select():
    spec = importlib.util.spec_from_file_location("select_unet_shapes_script", PATH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def rows(two: float, one: float) -> dict:
    """Rows as evaluation.measure gives them, with these rates at both guidances."""
    return {(t, w): {"rates": {"both_objects" if t else "all": {"rate": two if t else one}}}
            for t in (True, False) for w in (2.0, 5.0)}


def test_chosen_only_when_two_objects_improve_and_one_object_holds(select):
    shipped = rows(0.40, 0.93)
    assert select.verdict(rows(0.45, 0.92), shipped)["chosen"]              # 1 point less on one object: allowed
    assert not select.verdict(rows(0.45, 0.90), shipped)["chosen"]          # 3 points less: not
    assert not select.verdict(rows(0.40, 0.95), shipped)["chosen"]          # no better at two objects
    v = select.verdict(rows(0.30, 0.97), shipped)
    assert (v["keeps_one_object"], v["better_two_objects"]) == (True, False)


def test_refuses_a_folder_that_is_not_a_model(select, tmp_path):
    with pytest.raises(SystemExit, match="not a model folder"):
        select.main([str(tmp_path), "--out", str(tmp_path / "x.json")])
