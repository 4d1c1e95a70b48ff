"""output_methods/boamps"""
