"""output_methods/metrics"""
