"""The adapters: DynamoDB, SQS and HTTP behind small classes the rules call."""
