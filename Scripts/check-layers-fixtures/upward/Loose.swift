func outsideEveryLayer() {}
