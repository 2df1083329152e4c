"""The "fast (4 steps)" switch of the text-to-image widgets (issue 29): draw with `lcm-shapes` instead of
the model the lesson teaches. Off by default; the adapter's pipeline loads the first time it is switched on."""

from __future__ import annotations

import html
import json

import ipywidgets as W

CHECKPOINT, STEPS, GUIDANCE = "lcm-shapes", 4, 1.0
WHAT = f"{CHECKPOINT}: the same U-Net with a distilled LoRA adapter, {STEPS} LCM steps, no guidance"
_SAME_UNET = ("in_channels", "sample_size", "block_out_channels", "cross_attention_dim")


def unavailable(pipe) -> str | None:
    """Why the switch cannot serve `pipe`, or None: the adapter's folder is missing, or `pipe`'s U-Net is not
    the course's unet-shapes (the adapter belongs to the U-Net it was distilled from; a hub model has another)."""
    from ..paths import checkpoint_dir

    try:
        checkpoint_dir(CHECKPOINT)
    except FileNotFoundError as e:
        return f"fast (4 steps) is unavailable: {e}"
    config = checkpoint_dir("unet-shapes", must_exist=False) / "config.json"
    own = json.loads(config.read_text()) if config.is_file() else {}
    theirs = getattr(getattr(pipe, "unet", None), "config", {})
    if not own or any(own.get(k) != _plain(theirs.get(k)) for k in _SAME_UNET):
        return (f"fast (4 steps) is unavailable here: the {CHECKPOINT} adapter was distilled from the course's "
                "unet-shapes, and this pipeline has another U-Net. Use pipelines.load_text_to_image() for it.")
    return None


def _plain(value):
    return list(value) if isinstance(value, tuple) else value


class FastSwitch(W.HBox):
    """A toggle 'fast (4 steps)' and a line saying what it is (or why it is off).

    `pipeline()` gives the lcm-shapes pipeline, loaded on first use (models.load_pretrained, cached);
    `on` says whether the switch is on. A folder that is missing disables the switch with the reason;
    a folder that fails to load switches it back off with the reason, never an exception."""

    def __init__(self, pipe, width: str = "420px"):
        self.teacher, self.reason, self._pipe = pipe, unavailable(pipe), None
        self.toggle = W.ToggleButton(False, description=f"fast ({STEPS} steps)", icon="bolt",
                                     tooltip=self.reason or WHAT, disabled=self.reason is not None)
        self.note = W.HTML(layout=W.Layout(width=f"calc({width} - 160px)"))
        self.toggle.observe(lambda change: setattr(self.toggle, "button_style", "success" if change["new"] else ""),
                            "value")                              # on shows green: readable from the back row
        super().__init__([self.toggle, self.note], layout=W.Layout(align_items="center", grid_gap="8px"))
        self.say(self.reason or WHAT, problem=self.reason is not None)

    @property
    def on(self) -> bool:
        return bool(self.toggle.value)

    def say(self, text: str, problem: bool = False) -> None:
        colour = "#b00" if problem else "#555"
        self.note.value = f"<div style='color:{colour}; font-size:0.9em; line-height:1.3'>{html.escape(text)}</div>"

    def pipeline(self):
        """The lcm-shapes pipeline on the teacher's device (loaded once; 'loading' shows meanwhile)."""
        if self._pipe is None:
            from ..models import load_pretrained

            self.say(f"loading {CHECKPOINT} (the U-Net with its adapter) ...")
            self._pipe = load_pretrained(CHECKPOINT, device=self.teacher.device)
            self.say(WHAT)
        return self._pipe

    def ready(self) -> bool:
        """Load the adapter if it is on; True when it can draw. On failure: off, disabled, the reason shown."""
        if not self.on:
            return False
        try:
            self.pipeline()
            return True
        except (OSError, RuntimeError, ValueError) as e:
            self.reason = f"fast (4 steps) could not load: {e}"
            self.toggle.disabled, self.toggle.tooltip = True, self.reason
            self.say(self.reason, problem=True)
            self.toggle.value = False
            return False
