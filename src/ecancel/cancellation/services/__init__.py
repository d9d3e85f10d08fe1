"""Every change to a cancellation application, one service each, in modules by concern.

Each service locks the application row, is guarded by the move table in ``cancellation.transitions``,
saves only what it changed, is audited, and puts any message for the notary office in the exchange outbox,
all in one transaction, so a refused or failed change leaves nothing behind.

- ``drafting``: the operator fills the application in (and abandons it);
- ``push``: the documents are signed and the materials sent to the notary office;
- ``revoke``: the operator asks the office to close the pushed case;
- ``answers``: what the notary office answered, applied by ``cancellation.handlers`` from the inbox.
"""
