"""State changes of notary cases, in modules by concern.

Every service runs inside one transaction; messages to the filing side go through the exchange outbox in
that same transaction, so a change and its message commit together.

- ``intake``: 收案 (checking and storing pushed materials, opening or refusing a case);
- ``acceptance``: 受理 after intake commits (the office's documents, the QR code, case.accepted);
- ``revoke``: the seller's revoke requests and the office's own revoke;
- ``submission``: the buyers' submissions;
- ``files``: sweeping material files no case kept;
- ``common``: telling the seller, shared by all.
"""
