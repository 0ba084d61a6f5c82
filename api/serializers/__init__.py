"""The API's shapes, one module per resource: strict input serializers (unknown keys and
wrong JSON types are 400s) and read-only output serializers. No rule lives here: inputs are
handed to the services, which refuse what the rules refuse."""
