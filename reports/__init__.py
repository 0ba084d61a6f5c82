"""Report pages for managers: built in the reports issue."""
