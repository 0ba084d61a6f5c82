"""Rating requests, ratings and their rules: built in the rating-spine issue."""
