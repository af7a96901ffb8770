// replaced by the protocol implementation
