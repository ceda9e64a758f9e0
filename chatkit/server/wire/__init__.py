"""What goes over the wire: request models and validation, rendering of records to JSON."""
