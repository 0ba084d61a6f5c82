"""Demo data for `manage.py seed_demo`: teammates, contacts, workflows and conversations made
through the conversations services, each close decided and answered through the ratings
services. The top floor of the project: it imports the apps, none of them imports it."""
