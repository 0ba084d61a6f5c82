import pytest

from tests.factories import ContactFactory, TeammateFactory, WorkflowFactory, start_conversation


@pytest.fixture
def teammate(db):
    return TeammateFactory(name="Tess Mate", email="tess@example.com")


@pytest.fixture
def other_teammate(db):
    return TeammateFactory(name="Otto Other", email="otto@example.com")


@pytest.fixture
def contact(db):
    return ContactFactory(name="Cora User", email="cora@example.com")


@pytest.fixture
def lead(db):
    return ContactFactory(lead=True, name="", email="lee@example.com")


@pytest.fixture
def workflow(db):
    return WorkflowFactory()


@pytest.fixture
def conversation(contact):
    """An open customer conversation on the Messenger, started by `contact`."""
    return start_conversation(contacts=[contact], started_by=contact, body="Hi there")
