"""What generated code calls at run time: tapes, helpers, compilation."""
