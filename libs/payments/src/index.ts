/** Payment channels: the port, the HTTP adapter, routing and failover, webhook signing and verification. */
export {};
