"""Local AWS emulator: moto server with extra CloudFormation resource models (test infrastructure)."""
