"""mtneuro.report"""
