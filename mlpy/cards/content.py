"""What a model card says, section by section, as plain data that renders to Markdown, HTML and JSON.

The sections follow "Model Cards for Model Reporting" (Mitchell et al., 2019), the layout Google's Model
Card Toolkit and the Hugging Face model card template both derive from: model details, intended use,
factors, metrics, training data, quantitative analyses, ethical considerations, caveats and
recommendations. mlpy adds the governance record (who promoted the version, when and why), because a
card read during an audit must say how the version reached production.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

#: The layout followed, named in every card so a reader knows which practice it implements.
PRACTICE = "Model Cards for Model Reporting (Mitchell et al., 2019)"


@dataclass(frozen=True)
class Section:
    """One part of the card: its facts, or why it is empty (``note``), never silently missing."""

    title: str
    facts: dict[str, Any] = field(default_factory=dict)
    rows: list[dict[str, Any]] = field(default_factory=list)
    note: str | None = None


@dataclass(frozen=True)
class ModelCard:
    """The card of one registered version; ``sections`` keep the order of the practice followed."""

    model: str
    version: int
    generated_at: str
    sections: tuple[Section, ...]
    practice: str = PRACTICE

    @property
    def ref(self) -> str:
        return f"{self.model}:{self.version}"

    def section(self, title: str) -> Section:
        for section in self.sections:
            if section.title == title:
                return section
        raise KeyError(title)

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "version": self.version,
            "generated_at": self.generated_at,
            "practice": self.practice,
            "sections": [asdict(section) for section in self.sections],
        }
