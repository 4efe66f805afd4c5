"""Custom resource Lambda that creates SSM parameters CloudFormation must not own (see handler)."""
