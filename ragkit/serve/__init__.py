"""``ragkit serve``: one HTTP service over one store and one model, shared by a company's tools.

    app.py            the endpoints (FastAPI) and their error replies
    library.py        RAG seen through a key's grant (the one caller of the collections API)
    keys.py, db.py    API keys (hashes only) and jobs in the store's ``serve.sqlite``
    jobs.py           upload jobs and the background ingest worker
    uploads.py        safe file names, the store's ``uploads/`` folder
    gate.py           generation slots and the bounded queue (503 + Retry-After)
    answering.py      one answer on a worker thread, streamed to asyncio, stopped on disconnect
    openai_format.py  OpenAI / Dify / ragkit response shapes
    middleware.py     body limit (413) and the structured access log
    server.py         address checks and uvicorn

Nothing in ``ragkit`` imports this package except the CLI's ``serve`` and ``keys`` commands.
"""
