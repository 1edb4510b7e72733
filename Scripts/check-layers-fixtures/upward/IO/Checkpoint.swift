func save(_ model: any Module) {}
