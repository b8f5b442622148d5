"""Request bodies. Unknown OpenAI fields (temperature, max_tokens, ...) are accepted and ignored:
clients send them by default; answers are greedy and sized by ragkit's settings."""
from __future__ import annotations

from typing import Any, Literal, Optional, Union

from pydantic import BaseModel, ConfigDict, Field

from ..pipeline import MAX_QUESTION_CHARS

Mode = Literal["dense", "lexical", "hybrid"]
Where = Union[dict[str, Any], list[str], str]  # checked by ragkit.filters.parse_where (400 naming it)
MAX_K = 50


class Scoped(BaseModel):
    """The fields every reading request shares (the collections issue's filter grammar)."""

    collections: Optional[list[str]] = Field(None, description="only these collections (default: all the key may read)")
    where: Optional[Where] = Field(None, description="metadata filter: {'dept': '総務'} or ['year>=2023']")
    k: Optional[int] = Field(None, ge=1, le=MAX_K)
    mode: Optional[Mode] = None


class TextPart(BaseModel):
    model_config = ConfigDict(extra="allow")
    type: str
    text: Optional[str] = None


class Message(BaseModel):
    model_config = ConfigDict(extra="allow")
    role: str
    content: Union[str, list[TextPart], None] = None

    def text(self) -> str:
        if isinstance(self.content, list):
            return "".join(p.text or "" for p in self.content if p.type == "text")
        return self.content or ""


class ChatRequest(Scoped):
    model_config = ConfigDict(extra="allow")
    model: Optional[str] = None
    messages: list[Message] = Field(..., min_length=1)
    stream: bool = False
    include_sources: bool = True

    def question(self) -> str | None:
        """The last user message: the question (earlier turns are not used for retrieval)."""
        for message in reversed(self.messages):
            if message.role == "user":
                return message.text()
        return None


class RetrieveRequest(Scoped):
    query: str = Field(..., min_length=1, max_length=MAX_QUESTION_CHARS)


class RetrievalSetting(BaseModel):
    model_config = ConfigDict(extra="allow")
    top_k: int = Field(5, ge=1, le=MAX_K)
    score_threshold: float = 0.0


class DifyRetrieval(BaseModel):
    """Dify's external knowledge API request: ``knowledge_id`` is a ragkit collection."""

    model_config = ConfigDict(extra="allow")
    knowledge_id: str = Field(..., min_length=1)
    query: str = Field(..., min_length=1, max_length=MAX_QUESTION_CHARS)
    retrieval_setting: RetrievalSetting = Field(default_factory=RetrievalSetting)
