"""The admin inbox (issue "Foundation", item 3): list, thread, actions, add pages.

The actions go through `conversations.services`; these tests check that the admin calls
through, shows the service's refusal, and writes nothing when the input or the state is wrong.
Data is made with the services, as the product makes it."""
