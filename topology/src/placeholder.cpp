// replaced by the topology implementation
