"""A task-2 run in which a class got no correct pixel says so on its card: its F1 is 0 here
and NaN in the reference's formula, and so would its average F1 be."""

from __future__ import annotations


def test_a_class_without_a_correct_pixel_is_a_deviation_naming_its_seeds():
    from mtneuro.tasks.segmentation.protocol import undefined_f1

    def seed(index: int, matrix: list[list[int]]) -> dict:
        names = ["background", "vessel", "cell"]
        return {"seed": index, "scores": {"f1": dict.fromkeys(names, 0.5),
                                          "confusion_matrix": matrix}}

    vessel_missed = [[90, 5, 0], [4, 0, 0], [1, 0, 7]]  # vessel: 4 true pixels, none right
    cell_absent = [[95, 0, 0], [0, 5, 0], [0, 0, 0]]  # cell in neither truth nor prediction
    lines = undefined_f1([seed(0, vessel_missed), seed(1, cell_absent), seed(2, vessel_missed)])
    assert lines == ["F1 of vessel is 0 in seed(s) 0, 2: no pixel of it predicted correctly "
                     "(the reference's 2 P R / (P + R) gives NaN there, and NaN for the "
                     "average F1, scripts/task2_main.py:273-277)"]
    assert undefined_f1([seed(0, cell_absent)]) == []
