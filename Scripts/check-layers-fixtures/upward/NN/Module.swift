public protocol Module: AnyObject { var weight: Tensor { get } }
